import type { Metadata } from 'next';
import RefusedChanges from '../../../components/RefusedChanges';

export const metadata: Metadata = {
  title: 'Refused changes · CACPQ Sync Server',
};

export default function RefusedChangesPage() {
  return <RefusedChanges />;
}
