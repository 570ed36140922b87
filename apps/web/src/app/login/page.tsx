import type { Metadata } from 'next';
import LoginForm from '../../components/LoginForm';

export const metadata: Metadata = {
  title: 'Sign in · CACPQ Sync Server',
};

export default function LoginPage() {
  return (
    <main className="login-page">
      <div className="login-card">
        <h1>CACPQ Sync Server</h1>
        <p className="subtitle">Sign in to the dashboard.</p>
        <LoginForm />
      </div>
    </main>
  );
}
