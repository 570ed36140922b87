import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import type { Role } from '@cacpq/sync-protocol';
import { CurrentUserContext } from '../lib/hooks';

/** Renders `ui` as the app shell does once `/auth/me` answered: for a signed-in account with `role`. */
export function renderAs(role: Role, ui: ReactElement, username = role === 'admin' ? 'admin' : `a-${role}`): RenderResult {
  return render(<CurrentUserContext value={{ username, role }}>{ui}</CurrentUserContext>);
}

/** The text of what an element's `aria-describedby` points at (its hint and its error), as a screen reader reads it. */
export function description(el: HTMLElement): string {
  return (el.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent?.trim() ?? '')
    .join(' ');
}

/** The text of each cell of a table row, as read left to right. */
export function cells(row: HTMLElement): string[] {
  return Array.from((row as HTMLTableRowElement).cells, (c) => c.textContent ?? '');
}
