"use strict";
(function () {
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const refName = (s) => (s && s.$ref ? s.$ref.split("/").pop() : null);
  const typeOf = (s) => {
    if (!s) return "";
    const r = refName(s);
    if (r) return r;
    if (s.oneOf) return s.oneOf.map(typeOf).join(" | ");
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    if (s.allOf) return s.allOf.map(typeOf).join(" & ");
    const t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "object";
    if (t === "array") return typeOf(s.items) + "[]";
    return s.format ? `${t} (${s.format})` : t;
  };
  const schemaLink = (s) => {
    const r = refName(s);
    return r ? el("a", { href: "#schema-" + r }, r) : el("code", {}, typeOf(s));
  };
  const table = (head, rows) =>
    el("table", {}, el("tr", {}, ...head.map((h) => el("th", {}, h))), ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));

  function renderOp(path, method, op) {
    const id = op.operationId || method + path;
    const summary = el("summary", {},
      el("span", { className: "m m-" + method }, method), el("code", {}, path), " — ", op.summary || "",
      op.security ? el("span", { className: "lock" }, "🔒 bearer") : "");
    const body = [summary];
    if (op.description) body.push(el("p", {}, op.description));
    if (op.parameters && op.parameters.length) {
      body.push(el("h4", {}, "Parameters"), table(["name", "in", "required", "type", "description"],
        op.parameters.map((p) => [el("code", {}, p.name), p.in, p.required ? "yes" : "no", schemaLink(p.schema), p.description || ""])));
    }
    if (op.requestBody) {
      const c = op.requestBody.content || {};
      body.push(el("h4", {}, "Request body"), table(["media type", "schema", "required"],
        Object.entries(c).map(([mt, v]) => [mt, schemaLink(v.schema), op.requestBody.required ? "yes" : "no"])));
    }
    body.push(el("h4", {}, "Responses"), table(["status", "description", "body", "headers"],
      Object.entries(op.responses || {}).map(([st, r]) => [
        el("code", {}, st), r.description || "",
        el("span", {}, ...Object.entries(r.content || {}).map(([mt, v]) => el("div", {}, mt + " ", schemaLink(v.schema)))),
        Object.keys(r.headers || {}).join(", "),
      ])));
    return el("details", { className: "op", id }, ...body);
  }

  function renderSchema(name, s) {
    const props = s.properties || {};
    const req = new Set(s.required || []);
    const rows = Object.entries(props).map(([k, v]) => [el("code", {}, k), schemaLink(v), req.has(k) ? "yes" : "no", v.description || ""]);
    return el("div", { id: "schema-" + name }, el("h3", {}, name),
      s.description ? el("p", {}, s.description) : "",
      rows.length ? table(["property", "type", "required", "description"], rows) : el("pre", {}, JSON.stringify(s, null, 2)));
  }

  fetch("/v1/openapi.json")
    .then((r) => r.json())
    .then((doc) => {
      document.getElementById("info").textContent = `${doc.info.title} ${doc.info.version} — OpenAPI ${doc.openapi}. ${doc.info.description || ""}`;
      const ops = document.getElementById("ops");
      const toc = document.getElementById("toc");
      const byTag = {};
      for (const [path, item] of Object.entries(doc.paths || {})) {
        for (const [method, op] of Object.entries(item)) {
          if (typeof op !== "object" || !op.responses) continue;
          const tag = (op.tags && op.tags[0]) || "other";
          (byTag[tag] = byTag[tag] || []).push(renderOp(path, method, op));
        }
      }
      for (const [tag, list] of Object.entries(byTag)) {
        toc.append(el("a", { href: "#tag-" + tag }, tag));
        ops.append(el("h2", { id: "tag-" + tag }, tag), ...list);
      }
      const schemas = document.getElementById("schemas");
      schemas.append(el("h2", {}, "Schemas"));
      for (const [name, s] of Object.entries((doc.components && doc.components.schemas) || {})) schemas.append(renderSchema(name, s));
    })
    .catch((e) => {
      document.getElementById("info").textContent = "Could not load /v1/openapi.json: " + e;
    });
})();
