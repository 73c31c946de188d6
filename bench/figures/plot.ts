// A Vega-Lite spec to SVG and PNG without a browser: vega-lite compiles the spec to Vega, a
// headless Vega view (renderer 'none') draws it as SVG, and resvg rasterises that SVG to PNG
// with the system's fonts.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Rendered {
  readonly svg: string;
  readonly png: Buffer;
}

/** The look every figure shares: white background, readable type, no chart border. */
export const BASE_CONFIG = {
  background: 'white',
  padding: 10,
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 320 },
  title: { fontSize: 15, anchor: 'start' as const, subtitleFontSize: 12, subtitleColor: '#555' },
  view: { stroke: null },
};

/** PNGs are drawn at twice the SVG's size, so that they stay sharp on high-density screens. */
const PNG_SCALE = 2;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...BASE_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(withConfig).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: PNG_SCALE }, font: { loadSystemFonts: true } });
  return resvg.render().asPng();
}

export async function render(spec: TopLevelSpec): Promise<Rendered> {
  const svg = await renderSvg(spec);
  return { svg, png: svgToPng(svg) };
}
