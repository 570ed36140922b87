'use client';

import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { api, ApiError } from './api';

/* Answer shapes: the contract's. */
import type { LivenessResponse, MeResponse, ReadinessResponse, SessionUser } from '@cacpq/sync-protocol';
export type { LivenessResponse, MeResponse, ReadinessResponse, Role, SessionUser, StoreFileView } from '@cacpq/sync-protocol';

export const HEALTH_REFRESH_MS = 10_000;

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True while a load that the person is waiting for runs (first load, reload); not during background refresh. */
  loading: boolean;
  reload: () => void;
}

export interface UseApiOptions {
  /** Fetch again this many milliseconds after each answer (skipped while the tab is hidden). */
  refreshMs?: number;
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'CLIENT', err instanceof Error && err.message ? err.message : 'Something went wrong. Try again.');
}

/** GET `path` once on mount (and on `reload()`), optionally every `refreshMs`. Stale data stays visible on error. */
export function useApi<T>(path: string, { refreshMs }: UseApiOptions = {}): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    async function load(background: boolean): Promise<void> {
      if (!background) setLoading(true);
      try {
        const answer = await api.get<T>(path, { signal: controller.signal });
        if (controller.signal.aborted) return;
        setData(answer);
        setError(undefined);
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(asApiError(err));
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          schedule();
        }
      }
    }

    function schedule(): void {
      if (refreshMs && refreshMs > 0) timer = setTimeout(tick, refreshMs);
    }

    function tick(): void {
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') schedule();
      else void load(true);
    }

    void load(false);
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [path, refreshMs, attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);

  return { data, error, loading, reload };
}

/** Who is signed in: GET /api/v1/auth/me. */
export function useMe(): ApiState<MeResponse> {
  return useApi<MeResponse>('/api/v1/auth/me');
}

/** Master files, SQLite version, generation: GET /api/health/ready (public). */
export function useReadiness(): ApiState<ReadinessResponse> {
  return useApi<ReadinessResponse>('/api/health/ready', { refreshMs: HEALTH_REFRESH_MS });
}

/** Process liveness, uptime and version: GET /api/health (public). */
export function useLiveness(): ApiState<LivenessResponse> {
  return useApi<LivenessResponse>('/api/health', { refreshMs: HEALTH_REFRESH_MS });
}

/** The signed-in account, provided by the app shell once `/auth/me` answered. */
export const CurrentUserContext = createContext<SessionUser | undefined>(undefined);

export function useCurrentUser(): SessionUser | undefined {
  return useContext(CurrentUserContext);
}
