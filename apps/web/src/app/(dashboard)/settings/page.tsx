import type { Metadata } from 'next';
import Settings from '../../../components/Settings';

export const metadata: Metadata = {
  title: 'Settings · CACPQ Sync Server',
};

export default function SettingsPage() {
  return <Settings />;
}
