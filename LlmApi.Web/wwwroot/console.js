// The console is server-rendered; this is its only script: the "Copy" button beside a new API key.
// Delegated from the document, so it works on pages that enhanced navigation swaps in.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy-from]');
  if (!button) return;
  const field = document.getElementById(button.dataset.copyFrom);
  const status = button.parentElement.querySelector('.copied');
  try {
    await navigator.clipboard.writeText(field.value);
    if (status) status.textContent = 'Copied.';
  } catch {
    field.focus();
    field.select();
    if (status) status.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
  }
});

document.addEventListener('focusin', (event) => {
  if (event.target.matches('[data-select-on-focus]')) event.target.select();
});
