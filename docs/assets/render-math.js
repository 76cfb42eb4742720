// Render the math pymdownx.arithmatex (generic mode) leaves as \( \) and \[ \] in
// .arithmatex elements, with the KaTeX served from this site (no CDN).
function hamgeoRenderMath(root) {
  for (const el of root.querySelectorAll(".arithmatex")) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  }
}
if (typeof document$ !== "undefined") {
  document$.subscribe(({ body }) => hamgeoRenderMath(body)); // material's instant loading
} else {
  document.addEventListener("DOMContentLoaded", () => hamgeoRenderMath(document.body));
}
