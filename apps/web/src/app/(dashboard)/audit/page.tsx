import type { Metadata } from 'next';
import AuditLog from '../../../components/AuditLog';

export const metadata: Metadata = {
  title: 'Audit log · CACPQ Sync Server',
};

export default function AuditPage() {
  return <AuditLog />;
}
