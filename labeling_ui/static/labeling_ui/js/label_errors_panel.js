// The dashboard's label-error panel: the newest model's possible label errors, most likely
// wrong first (confident learning on its cross-validated probabilities). Data:
// GET projects/{id}/label-errors/. Text only (no HTML from the server).
let ctx = null;
const q = (name) => ctx.section.querySelector(`[data-le="${name}"]`);

function draw(data) {
  const check = data.check;
  const body = q("rows").querySelector("tbody");
  if (!check) {
    q("status").textContent = "No model has been checked yet: the check runs with each training.";
  } else if (check.skipped) {
    q("status").textContent = check.skipped;
  } else {
    q("status").textContent = `Model v${check.model_version} checked ${check.checked} labeled items `
      + `and flagged ${check.flagged}: the consensus label disagrees with what the model confidently `
      + "predicts when it did not train on the item. The top of the list is in the review queue.";
  }
  if (!data.results.length) {
    body.replaceChildren(ctx.el("tr", { class: "empty-row" },
      ctx.el("td", { colspan: "6", text: "Nothing flagged." })));
    return;
  }
  body.replaceChildren(...data.results.map((r) => ctx.el("tr", {},
    ctx.el("td", { class: "num", text: String(r.rank) }),
    ctx.el("td", { class: "mono", text: r.item.external_id }),
    ctx.el("td", { text: `${r.label} (${(r.label_proba * 100).toFixed(0)}%)` }),
    ctx.el("td", { text: `${r.suggested_label} (${(r.suggested_proba * 100).toFixed(0)}%)` }),
    ctx.el("td", { class: "num", text: r.score.toFixed(2) }),
    ctx.el("td", { text: r.reviewed ? "yes" : "no" }))));
}

export async function refresh() {
  try {
    const { data } = await ctx.api("GET", `projects/${ctx.projectId}/label-errors/?limit=20`);
    draw(data);
  } catch (err) {
    q("status").textContent = `Could not load the label errors: ${err.message}`;
  }
}

export async function init(context) {
  ctx = context;
  await refresh();
}
