// Agora's own behaviour, loaded as a module after DSFR. The CSP allows no inline
// script and no inline event handler, so everything is wired here by delegation.

// Close buttons of alerts (flash messages): <button data-agora-dismiss>.
// Focus goes to <main> so keyboard users are not sent back to the top.
document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-agora-dismiss]');
  if (!button) return;
  const box = button.closest('.fr-alert');
  if (!box) return;
  box.remove();
  const main = document.getElementById('contenu');
  if (main) main.focus();
});

// Forms that need a confirmation: <form data-agora-confirm="Annuler la séance ?">.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.agoraConfirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
