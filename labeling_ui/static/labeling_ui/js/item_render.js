// Draw an item's data as it is: text with its line breaks, images, other fields as a table.
// Data is only ever written as text (textContent) or as pixels, never parsed as HTML.
import { config, el } from "./api.js";

const IMAGE_URL = /^(https?:\/\/|\/(?!\/)|data:image\/(png|jpeg|gif|webp);)/i;
// An uploaded image: its key, served to project members by the API (same origin, so the
// page's CSP already allows it: img-src 'self').
const STORED_KEY = /^[0-9a-f]{32}$/;

function storedImage(key) {
  return el("img", { class: "item-img stored", alt: "Item image",
    src: `/api/v1/projects/${config.projectId}/images/${key}/` });
}

function pixelImage(values) {
  const side = Math.round(Math.sqrt(values.length));
  const max = Math.max(16, ...values.map((v) => Number(v) || 0));
  const canvas = el("canvas", { class: "pixel-image", width: side, height: side, role: "img",
    "aria-label": `${side}×${side} pixel image` });
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  values.forEach((raw, i) => {
    const shade = 255 - Math.round((Math.max(0, Number(raw) || 0) / max) * 255);
    image.data.set([shade, shade, shade, 255], i * 4);
  });
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function isPixelList(value) {
  if (!Array.isArray(value) || value.length < 4) return false;
  const side = Math.round(Math.sqrt(value.length));
  return side * side === value.length && value.every((v) => typeof v === "number");
}

function cellText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function renderItem(data) {
  const fragment = document.createDocumentFragment();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    fragment.append(el("div", { class: "item-text", text: cellText(data) }));
    return fragment;
  }
  const rest = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === "text" && typeof value === "string") {
      fragment.append(el("div", { class: "item-text", text: value }));
    } else if (key === "image" && isPixelList(value)) {
      fragment.append(el("figure", { class: "item-figure" }, pixelImage(value)));
    } else if (key === "stored_image" && typeof value === "string" && STORED_KEY.test(value)
        && config.projectId) {
      fragment.append(el("figure", { class: "item-figure" }, storedImage(value)));
    } else if (key === "image" && typeof value === "string" && IMAGE_URL.test(value)) {
      fragment.append(el("figure", { class: "item-figure" },
        el("img", { class: "item-img", src: value, alt: "Item image" })));
    } else {
      rest.push([key, value]);
    }
  }
  if (rest.length) {
    fragment.append(el("table", { class: "item-fields" }, el("tbody", {},
      rest.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }),
        el("td", { text: cellText(v) }))))));
  }
  return fragment;
}
