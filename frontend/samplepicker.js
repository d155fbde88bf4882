// View: the probe image picker, one button per probe image (with a
// thumbnail of the image when the run logged the probe images), shown only
// when there is more than one image to pick from.

import {el, replace} from './dom.js';

/** The probe image buttons. */
export class SamplePicker {
  /** @param {{onPick: function(number): void}} options  an image was picked */
  constructor({onPick}) {
    this.onPick = onPick;
    this.element = el('div', {className: 'fv-samples', attrs: {role: 'group',
      'aria-label': 'Probe image'}});
  }

  /**
   * Offer `count` images; hidden below two.
   *
   * @param {number} count
   * @param {?number|undefined} selected
   * @param {Array<?string>} thumbnails   url of each image's thumbnail (null: none)
   */
  set(count, selected, thumbnails) {
    if (count < 2) {
      replace(this.element);
      this.element.hidden = true;
      return;
    }
    this.element.hidden = false;
    const buttons = [];
    for (let i = 0; i < count; i++) {
      const button = el('button', {
        className: 'fv-sample',
        testid: 'sample-button',
        attrs: {type: 'button', 'aria-pressed': String(i === selected),
          title: `Probe image ${i + 1}`},
        on: {click: () => this.onPick(i)},
      });
      const url = thumbnails[i];
      if (url) {
        const img = el('img', {attrs: {alt: '', width: '32', height: '32'}});
        // A url from routeUrl(): relative and encoded, never markup.
        img.setAttribute('src', url);
        button.appendChild(img);
      }
      button.appendChild(el('span', {text: `image ${i + 1}`}));
      buttons.push(button);
    }
    replace(this.element, el('span', {className: 'fv-muted', text: 'Probe image'}), ...buttons);
  }
}
