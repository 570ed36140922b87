import type { Metadata } from 'next';
import ChangePassword from '../../../components/ChangePassword';

export const metadata: Metadata = {
  title: 'Your password · CACPQ Sync Server',
};

export default function PasswordPage() {
  return <ChangePassword />;
}
