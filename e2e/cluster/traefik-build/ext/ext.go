// Package ext stands in for github.com/traefik/traefik/dynamic/ext, a module Traefik
// replaces with a directory of its repository that its published module does not contain
// (the Go module proxy answers 403 for it). Traefik only embeds these types in its dynamic
// configuration to let extended builds add fields; empty types keep the configuration as
// the open-source build has it.
package ext

// HTTP is embedded in dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}

// RouterIng is the Ingress annotation form of Router.
type RouterIng struct{}

// ToRouter converts the annotation form into the router extension.
func (RouterIng) ToRouter() Router { return Router{} }
