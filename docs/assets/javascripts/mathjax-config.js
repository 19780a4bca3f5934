// MathJax reads this object when tex-svg-full.js loads (so this file comes first).
// arithmatex (generic mode) wraps math in \( \) and \[ \] inside elements of class "arithmatex";
// the notebooks rendered by mkdocs-jupyter keep $ $ and $$ $$ in their markdown cells
// (class "jp-RenderedMarkdown"). Nothing outside those two classes is typeset: an element with
// any other class is ignored, and an element with no class inherits its parent's state (so the
// <p> inside a notebook's markdown cell is typeset, the <p> of a chapter page is not).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".+",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown",
  },
  svg: { fontCache: "global" },
};
