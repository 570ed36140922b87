import type { Metadata } from 'next';
import Maintenance from '../../../components/Maintenance';

export const metadata: Metadata = {
  title: 'Maintenance · CACPQ Sync Server',
};

export default function MaintenancePage() {
  return <Maintenance />;
}
