import type { Metadata } from 'next';
import Accounts from '../../../components/Accounts';

export const metadata: Metadata = {
  title: 'Users and tokens · CACPQ Sync Server',
};

export default function AccountsPage() {
  return <Accounts />;
}
