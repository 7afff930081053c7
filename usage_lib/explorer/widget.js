// The explorer's table (an anywidget ES module): its rows answer clicks; state is in Python.
function number(v) {
  if (v === null || v === undefined || v === 0) return "–";
  return Number.isInteger(v) ? v.toLocaleString("en-US")
    : v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
}
function render({ model, el }) {
  const draw = () => {
    const table = document.createElement("table");
    table.className = "usage-explorer";
    const head = table.createTHead().insertRow();
    for (const label of [model.get("first"), ...model.get("labels"), "Total"]) {
      const th = document.createElement("th");
      th.textContent = label;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of model.get("rows")) {
      const tr = body.insertRow();
      tr.dataset.id = row.id;
      tr.dataset.kind = row.kind;
      tr.className = row.kind + (row.open ? " open" : "") + (row.chosen ? " chosen" : "");
      const name = tr.insertCell();
      const mark = row.kind === "organization" ? (row.open ? "▾ " : "▸ ") : "";
      name.textContent = mark + row.name;
      for (const v of row.kind === "more" ? [] : [...row.values, row.total]) {
        const td = tr.insertCell();
        td.textContent = number(v);
      }
      if (row.kind === "more") {
        name.colSpan = row.values.length + 2;
        const button = document.createElement("button");
        button.textContent = `Show ${model.get("step")} more`;
        button.dataset.more = "1";
        button.onclick = () => {
          model.set("limit", model.get("limit") + model.get("step"));
          model.save_changes();
        };
        name.textContent = `${row.name} `;
        name.appendChild(button);
        continue;
      }
      if (row.kind === "organization") {
        tr.title = row.open ? "Close its agents" : "Open its agents";
        tr.onclick = () => {
          model.set("org", row.open ? "" : row.id);
          model.set("agent", "");
          model.save_changes();
        };
      } else if (row.kind === "agent") {
        tr.title = row.chosen ? "Back to the organization" : "Show this agent's own row";
        tr.onclick = () => {
          model.set("agent", row.chosen ? "" : row.id);
          model.save_changes();
        };
      }
    }
    const bar = document.createElement("div");
    bar.className = "usage-downloads";
    bar.append("Download this table: ");
    for (const kind of ["csv", "xlsx"]) {
      const button = document.createElement("button");
      button.textContent = kind.toUpperCase();
      button.dataset.download = kind;
      button.onclick = () => model.send({ download: kind });
      bar.appendChild(button);
    }
    el.replaceChildren(table, bar);
  };
  model.on("msg:custom", (msg, buffers) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
    link.download = msg.file;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  });
  draw();
  model.on("change:rows", draw);
}
export default { render };
