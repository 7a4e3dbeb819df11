// Trend charts of the web UI's report page: the points of a line chart over the last runs, scaled
// into a box, and the delta of a value against the previous run. Pure (the page draws the SVG).

export interface TrendPoint {
	label: string;
	value: number | null;
}

export interface TrendChart {
	/** Points with a value, in run order, in chart coordinates (y grows downwards). */
	points: Array<{ x: number; y: number; label: string; value: number }>;
	min: number;
	max: number;
}

export function trendChart(
	series: readonly TrendPoint[],
	width: number,
	height: number,
	pad = 4,
): TrendChart {
	const values = series
		.map((p) => p.value)
		.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
	const min = values.length ? Math.min(...values) : 0;
	const max = values.length ? Math.max(...values) : 0;
	const span = max - min || 1;
	const step = series.length > 1 ? (width - 2 * pad) / (series.length - 1) : 0;
	const points: TrendChart["points"] = [];
	series.forEach((p, i) => {
		if (typeof p.value !== "number" || !Number.isFinite(p.value)) return;
		const x = series.length > 1 ? pad + i * step : width / 2;
		const y = max === min ? height / 2 : pad + (1 - (p.value - min) / span) * (height - 2 * pad);
		points.push({ x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10, label: p.label, value: p.value });
	});
	return { points, min, max };
}

/** `value - previous`, or null when either is unknown. */
export function delta(value: number | null | undefined, previous: number | null | undefined): number | null {
	return typeof value === "number" && typeof previous === "number" ? value - previous : null;
}
