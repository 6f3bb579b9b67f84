"use strict";
(function () {
	// The plan's rows are data: every id and value is set as text
	// (textContent), never as markup.
	var data = JSON.parse(document.getElementById("plan-data").textContent);
	var PAGE = 200, FOUND = 100;
	var heads = {
		error: ["idnumber", "attribute", "error"],
		"new": ["idnumber"],
		update: ["idnumber", "attribute", "old value", "new value"],
		add: ["idnumber", "attribute", "added", "removed"],
		old: ["idnumber"]
	};
	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	}
	function cells(kind, r) {
		switch (kind) {
		case "error": return [[r.i, ""], [r.a || "", ""], [r.e || "", ""]];
		case "update": return [[r.i, ""], [r.a, ""], [r.o, "old"], [r.n, "new"]];
		case "add": return [[r.i, ""], [r.a, ""], [r.p || [], "p"], [r.m || [], "m"]];
		}
		return [[r.i, ""]];
	}
	function row(kind, r, label) {
		var tr = el("tr");
		if (label !== undefined) tr.appendChild(el("td", "", label));
		cells(kind, r).forEach(function (c) {
			var td = el("td", c[1]);
			if (Array.isArray(c[0])) {
				td.className = "";
				c[0].forEach(function (v) { td.appendChild(el("div", "v " + c[1], v)); });
			} else {
				td.textContent = c[0];
			}
			tr.appendChild(td);
		});
		return tr;
	}
	function table(cols, kind) {
		var t = el("table", "rows " + kind), h = el("tr");
		cols.forEach(function (c) { h.appendChild(el("th", "", c)); });
		t.appendChild(el("thead")).appendChild(h);
		t.appendChild(el("tbody"));
		return t;
	}
	// A group lists its rows a page at a time, from when it is first opened.
	function more(det, g) {
		var box = det.querySelector(".rows");
		var t = box.querySelector("table");
		if (!t) {
			t = box.appendChild(table(heads[g.kind], g.kind));
			det.shown = 0;
		}
		var body = t.tBodies[0], end = Math.min(g.rows.length, det.shown + PAGE);
		var frag = document.createDocumentFragment();
		for (var k = det.shown; k < end; k++) frag.appendChild(row(g.kind, g.rows[k]));
		body.appendChild(frag);
		det.shown = end;
		var b = box.querySelector("button.more");
		if (b) b.remove();
		var rest = g.rows.length - end;
		if (rest > 0) {
			b = el("button", "more", "show " + Math.min(PAGE, rest) + " more (" + rest + " rows not shown yet)");
			b.type = "button";
			b.addEventListener("click", function () { more(det, g); });
			box.appendChild(b);
		} else if (g.total > countActions(g)) {
			box.appendChild(el("p", "capped", (g.total - countActions(g)) + " more actions of this group are left out of the page"));
		}
	}
	function countActions(g) {
		if (g.kind !== "add") return g.rows.length;
		var n = 0;
		g.rows.forEach(function (r) { n += (r.p || []).length + (r.m || []).length; });
		return n;
	}
	document.querySelectorAll("details.group").forEach(function (det) {
		var g = data.groups[+det.getAttribute("data-g")];
		if (det.open) more(det, g);
		det.addEventListener("toggle", function () {
			if (det.open && det.shown === undefined) more(det, g);
		});
	});

	// Search: one lower-case text per row, made after the page is shown.
	var hay = null;
	function build() {
		hay = [];
		data.groups.forEach(function (g, gi) {
			g.rows.forEach(function (r, ri) {
				var s = [r.i, r.a || "", r.o || "", r.n || "", r.e || ""].concat(r.p || [], r.m || []).join("\u0000");
				hay.push([s.toLowerCase(), gi, ri]);
			});
		});
	}
	function summary(g, r) {
		switch (g.kind) {
		case "update": return r.a + ": " + r.o + " \u2192 " + r.n;
		case "add": return r.a + ": " + (r.p || []).map(function (v) { return "+ " + v; }).concat((r.m || []).map(function (v) { return "\u2212 " + v; })).join(", ");
		case "error": return (r.a ? r.a + ": " : "") + r.e;
		}
		return "";
	}
	var q = document.getElementById("q"), found = document.getElementById("found"), results = document.getElementById("results");
	var timer = 0;
	function search() {
		var s = q.value.trim().toLowerCase();
		results.textContent = "";
		found.setAttribute("data-q", s);
		if (!s) {
			found.textContent = "";
			return;
		}
		if (!hay) build();
		var n = 0, t = null, body = null;
		for (var k = 0; k < hay.length; k++) {
			if (hay[k][0].indexOf(s) < 0) continue;
			if (n < FOUND) {
				if (!t) {
					t = results.appendChild(table(["group", "idnumber", "change"], "found"));
					body = t.tBodies[0];
				}
				var g = data.groups[hay[k][1]], r = g.rows[hay[k][2]];
				var tr = el("tr", "hit");
				tr.appendChild(el("td", "", g.label));
				tr.appendChild(el("td", "", r.i));
				tr.appendChild(el("td", "", summary(g, r)));
				body.appendChild(tr);
			}
			n++;
		}
		found.textContent = n === 0 ? "no match" : n > FOUND ? n + " matching rows, the first " + FOUND + " shown" : n === 1 ? "1 matching row" : n + " matching rows";
	}
	q.addEventListener("input", function () {
		clearTimeout(timer);
		timer = setTimeout(search, 80);
	});
	if (q.value) search();
	// The search's text is made once the page is shown, before anyone types.
	setTimeout(function () { if (!hay) build(); }, 0);
	document.documentElement.setAttribute("data-ready", "1");
})();
