// The dashboard's quality panel: agreement with its interval, per label, per annotator and per
// guideline version, flagged labelers and the review queue's size. Text only (no HTML).
let ctx = null;

const fmt = (value, digits = 2) => (value === null || value === undefined ? "–"
  : Number(value).toFixed(digits));
const pct = (value) => (value === null || value === undefined ? "–"
  : `${(Number(value) * 100).toFixed(0)}%`);
const ci = (pair, f = fmt) => (pair ? `95% CI ${f(pair[0])} – ${f(pair[1])}` : "");

function q(name) {
  return ctx.section.querySelector(`[data-q="${name}"]`);
}

function rows(name, list, cells) {
  const body = q(name).querySelector("tbody");
  if (!list.length) {
    body.replaceChildren(ctx.el("tr", { class: "empty-row" },
      ctx.el("td", { colspan: String(q(name).querySelectorAll("th").length) }, "Nothing yet.")));
    return;
  }
  body.replaceChildren(...list.map((row) => ctx.el("tr", {},
    ...cells(row).map((text) => ctx.el("td", {}, text)))));
}

function draw(report) {
  const cache = report.cache || {};
  if (cache.state === "computing") {
    q("status").textContent = "The report is being computed; it appears here shortly.";
    return;
  }
  q("status").textContent = cache.inline ? "Up to date."
    : `Computed ${cache.computed_at || "–"}${cache.state === "stale" ? " (refreshing)" : ""}.`;
  const a = report.agreement || {};
  q("alpha").textContent = fmt(a.krippendorff_alpha);
  q("alpha-ci").textContent = ci(a.krippendorff_alpha_interval);
  q("fleiss").textContent = fmt(a.fleiss_kappa);
  q("fleiss-ci").textContent = ci(a.fleiss_kappa_interval);
  q("cohen").textContent = fmt(a.cohen_kappa_mean);
  q("percent").textContent = pct(a.percent);
  q("percent-ci").textContent = ci(a.percent_interval, pct);
  const s = report.suggestion_acceptance || {};
  q("suggestions").textContent = `${pct(s.shown?.rate)} / ${pct(s.hidden?.rate)}`;
  q("review-size").textContent = String(report.review_queue?.size ?? "–");

  const given = report.label_distribution || {};
  rows("per-label", Object.entries(a.per_label || {}), ([name, m]) => [
    name, fmt(m.krippendorff_alpha), pct(m.percent), fmt(m.fleiss_kappa), String(given[name] ?? 0)]);
  const people = report.annotators || [];
  rows("annotators", people, (p) => [
    p.username + (p.flagged ? " ⚠" : ""), String(p.annotations), fmt(p.median_seconds, 1),
    p.gold_answered ? `${pct(p.gold_accuracy)} (${ci(p.gold_interval, pct).replace("95% CI ", "")}) of ${p.gold_answered}` : "–",
    pct(p.agreement_with_consensus), pct(p.suggestion_acceptance?.shown?.rate),
    pct(p.suggestion_acceptance?.hidden?.rate), p.qualification || "–"]);
  rows("versions", report.by_guideline_version || [], (v) => [
    v.version === null ? "unknown" : `v${v.version}`, String(v.annotations),
    fmt(v.krippendorff_alpha), pct(v.percent), pct(v.gold_accuracy)]);

  const flagged = people.filter((p) => p.flagged);
  const box = q("flagged");
  box.hidden = !flagged.length;
  box.textContent = flagged.length
    ? `Gold accuracy below the qualification threshold (${pct(report.qualification?.accuracy)}): `
      + flagged.map((p) => `${p.username} ${pct(p.gold_accuracy)}`).join(", ")
    : "";
}

export async function refresh() {
  try {
    const { data } = await ctx.api("GET", `projects/${ctx.projectId}/quality/`);
    draw(data);
  } catch (err) {
    q("status").textContent = `Could not load quality figures: ${err.message}`;
  }
}

export async function init(context) {
  ctx = context;
  await refresh();
}
