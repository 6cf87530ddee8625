// One check as a uPlot chart: canary and stable lines with the thresholds dashed.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { chartColumns } from './chart-data.ts';
import type { ChartCheck } from './types.ts';

const COLORS = { canary: '#d9480f', stable: '#1c7ed6', threshold: '#c92a2a' };

export function CheckChart({ check }: { check: ChartCheck }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { lines, data } = chartColumns(check);
  const shape = lines.map((line) => line.label).join('|');

  useEffect(() => {
    if (host.current === null) return;
    const options: uPlot.Options = {
      width: Math.max(320, Math.min(720, host.current.clientWidth || 640)),
      height: 200,
      series: [
        {},
        ...lines.map((line) => ({
          label: line.label,
          stroke: COLORS[line.kind],
          width: line.kind === 'threshold' ? 1 : 2,
          ...(line.kind === 'threshold' ? { dash: [6, 4] } : {}),
          spanGaps: false,
        })),
      ],
      axes: [{}, { size: 60 }],
    };
    plot.current = new uPlot(options, data as uPlot.AlignedData, host.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // Re-created only when the set of lines changes; new points go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  });

  return <div class="chart" ref={host} data-check={check.name} />;
}
