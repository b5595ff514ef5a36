// The API client: JSON in and out, the session cookie, the CSRF header on every state-changing
// request, and the error shape turned into an ApiError with translated messages.
import { t } from './i18n.js';

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || t('error.internal_error'));
    this.status = status;
    this.code = error.code || 'internal_error';
    this.fields = error.fields || {};
    this.fieldCodes = error.field_codes || {};
    this.requestId = error.request_id || null;
    this.current = error.current || null;
    this.retryAfter = null;
  }
}

/** Listeners told when the server says the session is gone (so the app can show sign-in). */
const unauthenticatedListeners = new Set();
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
}

/** Tells the listeners the session is gone, learnt other than from an answer (the live stream). */
export function sessionEnded() {
  const error = new ApiError(401, { error: { code: 'unauthenticated', message: t('error.unauthenticated') } });
  unauthenticatedListeners.forEach((listener) => listener(error));
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    const error = new ApiError(0, { error: { code: 'network', message: t('error.network') } });
    error.cause = cause;
    throw error;
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    const retry = Number(response.headers.get('Retry-After'));
    if (retry > 0) error.retryAfter = retry;
    if (response.status === 401) unauthenticatedListeners.forEach((listener) => listener(error));
    throw error;
  }
  return data;
}

/**
 * Sends a multipart form (a file upload) and reports the upload's progress as a fraction;
 * answers like `api`.
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/api/v1${path}`);
    request.setRequestHeader('Accept', 'application/json');
    if (csrfToken) request.setRequestHeader('X-CSRF-Token', csrfToken);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = null;
      }
      if (request.status >= 200 && request.status < 300) return resolve(data);
      const error = new ApiError(request.status, data);
      if (request.status === 401) unauthenticatedListeners.forEach((listener) => listener(error));
      return reject(error);
    });
    request.addEventListener('error', () => reject(new ApiError(0, { error: { code: 'network', message: t('error.network') } })));
    request.send(form);
  });
}
