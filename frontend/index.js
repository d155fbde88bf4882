// Entry point of the Feature maps panel. TensorBoard loads this ES module in
// its plugin iframe (data/plugin_entry.html?name=featureviz, whose
// <base href="plugin/featureviz/"> makes every url here relative to
// /data/plugin/featureviz/) and calls render().

import {App} from './app.js';

/**
 * Build the panel into the iframe's document.
 *
 * @returns {Promise<App>}
 */
export async function render() {
  const head = document.head || document.documentElement;
  if (!document.querySelector('link[data-featureviz-style]')) {
    const meta = document.createElement('meta');
    meta.name = 'viewport';
    meta.content = 'width=device-width, initial-scale=1';
    head.appendChild(meta);
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = './style.css';
    link.dataset.featurevizStyle = '';
    const loaded = new Promise((resolve) => {
      link.addEventListener('load', resolve, {once: true});
      link.addEventListener('error', resolve, {once: true});
    });
    head.appendChild(link);
    await loaded;
  }
  document.documentElement.lang = document.documentElement.lang || 'en';
  let root = document.getElementById('featureviz');
  if (!root) {
    root = document.createElement('div');
    root.id = 'featureviz';
    root.className = 'fv-app';
    document.body.appendChild(root);
  }
  const app = new App(root);
  await app.start();
  return app;
}
