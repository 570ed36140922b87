import type { Metadata } from 'next';
import Backups from '../../../components/Backups';

export const metadata: Metadata = {
  title: 'Backups · CACPQ Sync Server',
};

export default function BackupsPage() {
  return <Backups />;
}
