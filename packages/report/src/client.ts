/// <reference lib="dom" />
// The report page's own script. renderReport inlines `reportClient.toString()` after the
// ECharts bundle, so this function must be self-contained: it uses only its parameters and
// browser globals, never anything else from this module.
import type * as EChartsNs from "echarts";
import type {
  CustomSeriesRenderItemAPI,
  CustomSeriesRenderItemParams,
  CustomSeriesRenderItemReturn,
  EChartsOption,
} from "echarts";
import type { ClientFleet, ClientLatencyState, ClientTimeline } from "./prepare.js";

export interface ClientData {
  timeline: ClientTimeline | null;
  latency: ClientLatencyState[];
  fleet: ClientFleet | null;
}

/** What the page publishes on `window.stopsimReport` once every chart has rendered. */
export interface RenderedCharts {
  ready: boolean;
  charts: Record<string, { title: string; series: { name: string; points: number }[]; rendered: boolean }>;
}

export function reportClient(echarts: typeof EChartsNs, doc: Document, win: Window): void {
  const dataEl = doc.getElementById("report-data");
  const data = JSON.parse(dataEl?.textContent ?? "null") as ClientData;
  const state: RenderedCharts = { ready: false, charts: {} };
  (win as unknown as { stopsimReport: RenderedCharts }).stopsimReport = state;

  const esc = (s: unknown): string =>
    String(s).replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
    );
  const num = (v: number): string => {
    const a = Math.abs(v);
    return v.toFixed(a >= 100 || a === 0 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
  };
  // axis ticks: up to five significant digits, no trailing zeros
  const tick = (v: number): string => String(Number(v.toPrecision(5)));
  const FONT = "DejaVu Sans, Verdana, sans-serif";
  const charts: EChartsNs.ECharts[] = [];

  const mount = (
    id: string,
    title: string,
    option: EChartsOption,
    series: { name: string; points: number }[],
  ) => {
    const el = doc.getElementById(id);
    if (!el) return;
    const chart = echarts.init(el, undefined, { renderer: "canvas" });
    charts.push(chart);
    const entry = { title, series, rendered: false };
    state.charts[id] = entry;
    chart.on("finished", () => {
      entry.rendered = true;
      state.ready = Object.values(state.charts).every((c) => c.rendered);
    });
    chart.setOption({ animation: false, textStyle: { fontFamily: FONT }, ...option });
  };

  // 1. per-vCPU state timeline
  const t = data.timeline;
  if (t) {
    const unit = t.unit.label;
    const symbols = ["triangle", "diamond", "pin", "rect", "circle", "roundRect", "arrow"];
    const markerColors = ["#D55E00", "#CC79A7", "#000000", "#882255", "#332288", "#117733", "#AA4499"];
    const series: EChartsOption["series"] = [];
    for (const s of t.states) {
      series.push({
        type: "custom",
        name: s.label,
        color: s.color,
        encode: { x: [1, 2], y: 0 },
        data: s.data,
        renderItem: (params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI) => {
          const cat = api.value(0);
          const a = api.coord([api.value(1), cat]);
          const b = api.coord([api.value(2), cat]);
          const band = api.size ? (api.size([0, 1]) as number[])[1] : 0;
          const h = band * 0.7 * s.height;
          const cs = params.coordSys as unknown as { x: number; y: number; width: number; height: number };
          const x0 = Math.max(a[0], cs.x);
          const x1 = Math.min(Math.max(b[0], a[0] + 1), cs.x + cs.width);
          if (x1 <= x0) return null;
          const children: NonNullable<CustomSeriesRenderItemReturn>[] = [
            {
              type: "rect",
              shape: { x: x0, y: a[1] - h / 2, width: x1 - x0, height: h },
              style: { fill: s.color, stroke: "#333", lineWidth: x1 - x0 > 3 ? 0.5 : 0 },
            },
          ];
          if (x1 - x0 > 8 * s.tag.length + 6) {
            children.push({
              type: "text",
              style: {
                text: s.tag,
                x: (x0 + x1) / 2,
                y: a[1],
                align: "center",
                verticalAlign: "middle",
                fill: "#000",
                font: `10px ${FONT}`,
              },
            });
          }
          return { type: "group", children } as CustomSeriesRenderItemReturn;
        },
      });
    }
    t.markers.forEach((m, i) => {
      series.push({
        type: "scatter",
        name: m.name,
        data: m.data,
        encode: { x: 0, y: 1 },
        symbol: symbols[i % symbols.length],
        symbolSize: 9,
        symbolOffset: [0, -18],
        color: markerColors[i % markerColors.length],
        z: 5,
      });
    });
    const title = "vCPU states over time";
    const height = 190 + 46 * t.vcpus.length;
    const el = doc.getElementById("chart-timeline");
    if (el) el.style.height = `${height}px`;
    mount(
      "chart-timeline",
      title,
      {
        aria: {
          enabled: true,
          label: {
            description: `${title} for ${t.runLabel}: ${t.vcpus.length} vCPUs, states ${t.states.map((s) => s.label).join(", ")}; exit markers ${t.markers.map((m) => m.name).join(", ") || "none"}. The table below summarises time per state.`,
          },
        },
        title: { text: title, subtext: t.runLabel, left: "center" },
        legend: { top: 48, type: "scroll" },
        tooltip: {
          trigger: "item",
          formatter: (p) => {
            const q = p as unknown as { seriesName: string; seriesType: string; value: number[] };
            const v = q.value;
            const cpu = t.vcpus[q.seriesType === "scatter" ? v[1] : v[0]];
            if (q.seriesType === "scatter") {
              const detail = v[2] >= 0 ? `<br>${esc(t.details[v[2]])}` : "";
              return `<b>${esc(q.seriesName)}</b> on ${esc(cpu)}<br>at ${num(v[0])} ${unit}${detail}`;
            }
            return `<b>${esc(cpu)}</b>: ${esc(q.seriesName)}<br>${num(v[1])} - ${num(v[2])} ${unit} (${num(v[2] - v[1])} ${unit})`;
          },
        },
        toolbox: {
          right: 20,
          feature: {
            dataZoom: { yAxisIndex: "none", title: { zoom: "drag to zoom", back: "undo zoom" } },
            restore: { title: "reset" },
          },
        },
        dataZoom: [
          {
            type: "slider",
            xAxisIndex: 0,
            filterMode: "weakFilter",
            bottom: 12,
            showDataShadow: false,
            labelFormatter: (v: number) => `${num(v)} ${unit}`,
          },
          { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" },
        ],
        grid: { left: 80, right: 40, top: 100, bottom: 90 },
        xAxis: {
          type: "value",
          min: t.startNs / t.unit.ns,
          max: t.endNs / t.unit.ns,
          name: `virtual time (${unit})`,
          nameLocation: "middle",
          nameGap: 28,
          axisLabel: { formatter: (v: number) => tick(v) },
        },
        yAxis: {
          type: "category",
          data: t.vcpus,
          inverse: true,
          axisTick: { show: false },
        },
        series,
      },
      [
        ...t.states.map((s) => ({ name: s.label, points: s.data.length })),
        ...t.markers.map((m) => ({ name: m.name, points: m.data.length })),
      ],
    );
  }

  // 2. wakeup-latency histograms, one chart per idle state
  data.latency.forEach((l, i) => {
    const title = `Wakeup latency: ${l.state}`;
    const kinds = [
      { key: "timer", label: "timer", stats: l.timer, color: "#0072B2", pos: "insideEndTop" },
      { key: "ipi", label: "IPI", stats: l.ipi, color: "#D55E00", pos: "insideStartTop" },
    ] as const;
    const fmtMedian = (ns: number | null): string =>
      ns !== null && Number.isFinite(ns) ? `${num(ns / 1e3)} µs` : "none";
    const series: EChartsOption["series"] = kinds.map((k, ki) => {
      const lines: object[] = [];
      if (k.stats.medianNs !== null && Number.isFinite(k.stats.medianNs)) {
        lines.push({
          xAxis: k.stats.medianNs / 1e3,
          name: `simulated ${k.label} median`,
          lineStyle: { type: "solid", width: 2, color: k.color },
          label: { show: false },
        });
      }
      if (k.stats.reference) {
        lines.push({
          xAxis: k.stats.reference.medianNs / 1e3,
          name: `measured ${k.label} median (POWER9)`,
          lineStyle: { type: "dashed", width: 2, color: k.color },
          label: {
            show: true,
            formatter: `${k.label} ref`,
            position: "end",
            distance: [0, 2 + 13 * ki],
            color: k.color,
            fontSize: 10,
          },
        });
      }
      const range = k.stats.reference?.rangeNs;
      return {
        type: "line",
        name: `${k.label} wakeups (${k.stats.count})`,
        step: "end",
        symbol: "none",
        color: k.color,
        lineStyle: { width: 1.5 },
        areaStyle: { opacity: 0.3 },
        data: k.stats.points,
        markLine: {
          symbol: "none",
          tooltip: { formatter: (p: unknown) => esc((p as { name: string }).name) },
          data: lines,
        },
        markArea: range
          ? {
              silent: true,
              itemStyle: { color: k.color, opacity: 0.07 },
              data: [[{ xAxis: range[0] / 1e3, name: "" }, { xAxis: range[1] / 1e3 }]],
            }
          : undefined,
      };
    });
    const medians = kinds
      .map(
        (k) =>
          `${k.label}: simulated ${fmtMedian(k.stats.medianNs)}` +
          (k.stats.reference ? `, measured ${fmtMedian(k.stats.reference.medianNs)}` : ""),
      )
      .join("  |  ");
    const desc = kinds
      .map(
        (k) =>
          `${k.label}: ${k.stats.count} wakeups, simulated median ${Number.isFinite(k.stats.medianNs) ? `${num(k.stats.medianNs / 1e3)} µs` : "none"}` +
          (k.stats.reference ? `, measured median ${num(k.stats.reference.medianNs / 1e3)} µs` : ""),
      )
      .join("; ");
    mount(
      `chart-latency-${i}`,
      title,
      {
        aria: { enabled: true, decal: { show: true }, label: { description: `${title}. ${desc}.` } },
        title: {
          text: title,
          subtext: `medians: ${medians}\nsolid line: simulated median; dashed: measured on POWER9; band: measured range${
            l.beyondMaxUs !== undefined
              ? `\n${l.timer.beyond + l.ipi.beyond} outliers beyond the axis, counted not drawn (largest ${num(l.beyondMaxUs)} µs)`
              : ""
          }`,
          left: "center",
          subtextStyle: { fontSize: 11, lineHeight: 15 },
        },
        legend: { top: 76 + (l.beyondMaxUs !== undefined ? 15 : 0) },
        tooltip: {
          trigger: "axis",
          formatter: (p) => {
            const arr = p as unknown as { seriesName: string; value: number[] }[];
            if (!arr.length) return "";
            const x = arr[0].value[0];
            return `from ${num(x)} µs<br>${arr.map((s) => `${esc(s.seriesName)}: ${s.value[1]}`).join("<br>")}`;
          },
        },
        grid: { left: 60, right: 24, top: 132 + (l.beyondMaxUs !== undefined ? 15 : 0), bottom: 50 },
        xAxis: {
          type: "value",
          min: l.loUs,
          max: l.hiUs,
          name: "wakeup latency (µs)",
          nameLocation: "middle",
          nameGap: 28,
          axisLabel: { formatter: (v: number) => tick(v), hideOverlap: true },
        },
        yAxis: { type: "value", name: "wakeups (count)", minInterval: 1 },
        series,
      },
      kinds.map((k) => ({ name: k.label, points: k.stats.count })),
    );
  });

  // 3. fleet outcomes over simulated time
  const f = data.fleet;
  if (f) {
    const unit = f.unit.label;
    const title = "Fleet outcomes over simulated time";
    const lineSymbols = ["circle", "triangle", "rect", "diamond", "emptyCircle", "emptyTriangle"];
    const lineTypes = ["solid", "dashed", "dotted"] as const;
    const anyStacked = f.outcomes.some((o) => o.stacked);
    const anyLine = f.outcomes.some((o) => !o.stacked);
    mount(
      "chart-fleet",
      title,
      {
        aria: {
          enabled: true,
          decal: { show: true },
          label: {
            description: `${title}: ${f.outcomes.map((o) => `${o.name} (${o.stacked ? "stacked area" : "line"}) ends at ${o.data[o.data.length - 1]?.[1] ?? 0}`).join(", ")}. The table below lists the counts.`,
          },
        },
        title: {
          text: title,
          subtext:
            anyStacked && anyLine
              ? "guests per state as stacked areas; other counts as lines"
              : anyStacked
                ? "guests per state, stacked"
                : "counts per outcome",
          left: "center",
        },
        legend: { top: 48 },
        tooltip: {
          trigger: "axis",
          formatter: (p) => {
            const arr = p as unknown as { seriesName: string; value: number[] }[];
            if (!arr.length) return "";
            return `at ${num(arr[0].value[0])} ${unit}<br>${arr.map((s) => `${esc(s.seriesName)}: ${s.value[1]}`).join("<br>")}`;
          },
        },
        toolbox: {
          right: 20,
          feature: {
            dataZoom: { yAxisIndex: "none", title: { zoom: "drag to zoom", back: "undo zoom" } },
            restore: { title: "reset" },
          },
        },
        dataZoom: [
          {
            type: "slider",
            xAxisIndex: 0,
            bottom: 12,
            showDataShadow: false,
            labelFormatter: (v: number) => `${num(v)} ${unit}`,
          },
          { type: "inside", xAxisIndex: 0 },
        ],
        grid: { left: 60, right: 40, top: 100, bottom: 90 },
        xAxis: {
          type: "value",
          name: `simulated time (${unit})`,
          nameLocation: "middle",
          nameGap: 28,
          scale: true,
          axisLabel: { formatter: (v: number) => tick(v) },
        },
        yAxis: { type: "value", name: "guests (count)", minInterval: 1 },
        series: f.outcomes.map((o, i) =>
          o.stacked
            ? {
                type: "line",
                name: o.name,
                stack: "guests",
                step: "end",
                symbol: "none",
                color: o.color,
                lineStyle: { width: 1 },
                areaStyle: { opacity: anyLine ? 0.45 : 0.85 },
                data: o.data,
              }
            : {
                type: "line",
                name: o.name,
                step: "end",
                symbol: lineSymbols[i % lineSymbols.length],
                symbolSize: 6,
                color: o.color,
                lineStyle: { width: 2.5, type: lineTypes[i % lineTypes.length] },
                data: o.data,
                z: 3,
              },
        ),
      },
      f.outcomes.map((o) => ({ name: o.name, points: o.data.length })),
    );
  }

  if (charts.length === 0) state.ready = true;
  win.addEventListener("resize", () => {
    for (const c of charts) c.resize();
  });
}
