// Steller portal: the only script. Copy buttons (`data-copy="<element id>"`) put a key
// or a command on the clipboard. They are drawn hidden, and shown here: without
// JavaScript they could do nothing, and the text is still there to select.
for (const button of document.querySelectorAll("button[data-copy][hidden]")) {
  button.hidden = false;
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    if (source.select) source.select();
    button.textContent = "Press Ctrl+C";
  }
});
