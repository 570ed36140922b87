import { NextResponse, type NextRequest } from 'next/server';

const SESSION_COOKIE = 'cacpq_session';

/**
 * Optimistic sign-in check: without a session cookie, pages send the browser to /login.
 * The API server still decides on every call; an expired cookie is caught by the API client.
 */
export function proxy(request: NextRequest): NextResponse {
  const { pathname, search } = request.nextUrl;
  if (pathname === '/login' || pathname.startsWith('/login/')) return NextResponse.next();
  if (request.cookies.get(SESSION_COOKIE)?.value) return NextResponse.next();

  const login = request.nextUrl.clone();
  login.pathname = '/login';
  login.search = '';
  login.searchParams.set('next', pathname + search);
  return NextResponse.redirect(login);
}

export const config = {
  // Not: the API server's own paths, Next.js assets, and static files (favicon.ico, robots.txt, images, …).
  // Static files are matched by extension only, so a page such as /users/jane.doe still gets the check.
  matcher: [
    '/((?!api/|api$|socket\\.io|metrics$|_next/static|_next/image|_next/data|favicon\\.ico$|.*\\.(?:ico|png|svg|jpe?g|gif|webp|avif|txt|xml|webmanifest|json|map|css|js|woff2?)$).*)',
  ],
};
