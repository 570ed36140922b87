import type { Metadata } from 'next';
import SyncActivity from '../../../components/SyncActivity';

export const metadata: Metadata = {
  title: 'Sync activity · CACPQ Sync Server',
};

export default function SyncActivityPage() {
  return <SyncActivity />;
}
