import type { Metadata } from 'next';
import UserActivity from '../../../components/UserActivity';

export const metadata: Metadata = {
  title: 'User activity · CACPQ Sync Server',
};

export default function UserActivityPage() {
  return <UserActivity />;
}
