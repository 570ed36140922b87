import type { Metadata } from 'next';
import Overview from '../../components/Overview';

export const metadata: Metadata = {
  title: 'Overview · CACPQ Sync Server',
};

export default function OverviewPage() {
  return <Overview />;
}
