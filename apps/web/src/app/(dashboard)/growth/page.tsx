import type { Metadata } from 'next';
import Growth from '../../../components/Growth';

export const metadata: Metadata = {
  title: 'Growth · CACPQ Sync Server',
};

export default function GrowthPage() {
  return <Growth />;
}
