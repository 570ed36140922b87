import type { Metadata } from 'next';
import Conflicts from '../../../components/Conflicts';

export const metadata: Metadata = {
  title: 'Conflicts · CACPQ Sync Server',
};

export default function ConflictsPage() {
  return <Conflicts />;
}
