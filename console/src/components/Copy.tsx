// A "Copy" button for a block of text (the clipboard API, with a selection fallback).
import { useState } from "preact/hooks";

export function Copy({ text, what }: { text: string; what: string }) {
  const [done, setDone] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      setDone(ok ? "Copied" : "Copy failed: select the text and copy it");
    }
    setTimeout(() => setDone(""), 2500);
  };
  return (
    <span>
      <button type="button" onClick={copy} aria-label={`Copy ${what} to the clipboard`}>
        Copy
      </button>{" "}
      <span role="status">{done}</span>
    </span>
  );
}
