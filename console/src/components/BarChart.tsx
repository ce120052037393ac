/** A bar chart (Chart.js) with its figures also as text for screen readers and print. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const COLOURS = ['#0b4f8a', '#c05a00', '#1d6b35', '#6a2c91', '#a4161a', '#4a5560'];

export interface Series {
  label: string;
  data: number[];
  /** Formats a value for the tooltip and the text summary. */
  format?: (value: number) => string;
  axis?: 'y' | 'y2';
}

export function BarChart(props: { title: string; labels: string[]; series: Series[]; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const twoAxes = props.series.some((s) => s.axis === 'y2');
    // An axis shows its series' format (money), whole numbers otherwise.
    const tick = (axis: 'y' | 'y2') => (value: string | number) => {
      const format = props.series.find((s) => (s.axis ?? 'y') === axis)?.format;
      return format ? format(Number(value)) : Number.isInteger(Number(value)) ? value : '';
    };
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: props.labels,
        datasets: props.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length], yAxisID: s.axis ?? 'y' })),
      },
      options: {
        responsive: true,
        animation: false,
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const s = props.series[item.datasetIndex];
                return `${s?.label}: ${s?.format ? s.format(item.parsed.y ?? 0) : item.parsed.y}`;
              },
            },
          },
        },
        scales: {
          y: { beginAtZero: true, position: 'left', ticks: { callback: tick('y') } },
          ...(twoAxes ? { y2: { beginAtZero: true, position: 'right' as const, grid: { drawOnChartArea: false }, ticks: { callback: tick('y2') } } } : {}),
        },
      },
    });
    return () => chart.destroy();
  }, [JSON.stringify([props.labels, props.series.map((s) => [s.label, s.data])])]);

  const summary = props.labels
    .map((label, i) => `${label}: ${props.series.map((s) => `${s.label} ${s.format ? s.format(s.data[i] ?? 0) : s.data[i]}`).join(', ')}`)
    .join('; ');
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption><strong>{props.title}</strong></figcaption>
      <canvas ref={canvas} role="img" aria-label={`${props.title}. ${summary}`} />
    </figure>
  );
}
