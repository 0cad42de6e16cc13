// The "Columns" menu: a checkbox per column of the list; at least one stays chosen.
import type { ColumnMeta } from "../api";
import { label } from "../format";

interface Props {
  all: ColumnMeta[];
  chosen: string[];
  onChange: (columns: string[]) => void;
}

export function ColumnChooser({ all, chosen, onChange }: Props) {
  const toggle = (name: string) => {
    if (chosen.includes(name)) {
      if (chosen.length > 1) onChange(chosen.filter((c) => c !== name));
    } else {
      // An added column comes last; the columns already shown keep their order.
      onChange([...chosen, name]);
    }
  };
  return (
    <details class="menu">
      <summary>Columns</summary>
      <fieldset>
        <legend>Columns shown</legend>
        {all.map((c) => (
          <label>
            <input type="checkbox" checked={chosen.includes(c.name)} onChange={() => toggle(c.name)} /> {label(c.name)}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
