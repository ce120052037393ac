/** Hash routes (`#/cases/case-LN1`): the API serves one page under /app, whatever the view. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'signin' }
  | { page: 'worklist' }
  | { page: 'ledger'; query: URLSearchParams }
  | { page: 'approvals' }
  | { page: 'case'; caseId: string }
  | { page: 'portfolio' };

export function parseRoute(hash: string): Route | null {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'signin':
      return { page: 'signin' };
    case 'worklist':
      return { page: 'worklist' };
    case 'ledger':
      return { page: 'ledger', query: new URLSearchParams(search) };
    case 'approvals':
      return { page: 'approvals' };
    case 'portfolio':
      return { page: 'portfolio' };
    case 'cases':
      return parts[1] ? { page: 'case', caseId: parts[1] } : null;
    default:
      return null;
  }
}

export function href(path: string): string {
  return `#/${path}`;
}

export function navigate(path: string): void {
  window.location.hash = `/${path}`;
}

export function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const update = () => setHash(window.location.hash);
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return hash;
}
