// The official @trpc/client (v11, httpLink and httpBatchLink, no transformer) against a real
// NeonPro function binary (`trpc-procedure`, started the way `vercel dev` starts it).
//
// Needs: NEONPRO_TEST_PG_APP_URL and NEONPRO_TEST_REDIS_URL (a migrated, seeded database, as
// scripts/test provides), and the binary (NEONPRO_TRPC_BIN, default
// $CARGO_TARGET_DIR/debug/trpc-procedure). Run: node --test clients/ts/test/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, httpLink, httpBatchLink, TRPCClientError } from '@trpc/client';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = process.env.NEONPRO_TRPC_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debug', 'trpc-procedure');
// Seeded in supabase/seed.sql: the clinician of Clínica Aurora Estética.
const AURORA = '11111111-1111-4111-8111-111111111111';
// Seeded catalog of that clinic: Dra. Helena Prado (verified CRM) and botulinum toxin.
const HELENA = 'a1000000-0000-4000-8000-000000000001';
const TOXIN = 'a3000000-0000-4000-8000-000000000001';

let server;
let url;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

before(async () => {
  for (const v of ['NEONPRO_TEST_PG_APP_URL', 'NEONPRO_TEST_REDIS_URL']) {
    assert.ok(process.env[v], `${v} must be set (scripts/test sets it)`);
  }
  const port = await freePort();
  server = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      VERCEL_DEV_PORT: String(port),
      RUST_LOG: 'warn',
      DATABASE_URL: process.env.NEONPRO_TEST_PG_APP_URL,
      REDIS_URL: process.env.NEONPRO_TEST_REDIS_URL,
      RATE_LIMIT_PREFIX: `node-test-${randomUUID()}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${BIN} did not start`)), 30_000);
    server.on('error', reject);
    server.stdout.on('data', (chunk) => {
      if (chunk.toString().includes('Dev server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  url = `http://127.0.0.1:${port}/trpc`;
});

after(() => server?.kill());

function token(role = 'clinician') {
  return execFileSync(path.join(ROOT, 'scripts/token'), ['--role', role, '--clinic', 'a']).toString().trim();
}

function client(link, { auth = true, seen } = {}) {
  const headers = auth ? { authorization: `Bearer ${token()}`, 'x-clinic-id': AURORA } : {};
  return createTRPCClient({
    links: [
      link({
        url,
        headers: () => headers,
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          seen?.push({ url: String(input), method: init?.method ?? 'GET', status: res.status });
          return res;
        },
      }),
    ],
  });
}

/** A valid CPF (random base, computed check digits). */
function cpf() {
  const d = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
  if (d.every((x) => x === d[0])) d[0] = (d[0] + 1) % 10;
  const dv = (digits) => {
    const s = digits.reduce((acc, x, i) => acc + x * (digits.length + 1 - i), 0);
    const r = s % 11;
    return r < 2 ? 0 : 11 - r;
  };
  d.push(dv(d));
  d.push(dv(d));
  return d.join('');
}

function newPatient(cpfDigits) {
  return {
    fullName: 'Conceição Araújo',
    birthDate: '1988-04-12',
    cpf: cpfDigits,
    phone: '(11) 98765-4321',
    allergies: ['lidocaína'],
  };
}

async function rejects(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, `not a TRPCClientError: ${err}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

for (const [name, link] of [['httpLink', httpLink], ['httpBatchLink', httpBatchLink]]) {
  test(`${name}: create a patient, read it, CONFLICT on a duplicate CPF`, async () => {
    const trpc = client(link);
    const c = cpf();
    const created = await trpc.patients.create.mutate(newPatient(c));
    assert.equal(created.fullName, 'Conceição Araújo');
    assert.equal(created.version, 1);
    assert.deepEqual(created.allergies, ['lidocaína']);

    const read = await trpc.patients.getById.query({ id: created.id });
    assert.equal(read.id, created.id);
    assert.equal(read.phone, '+5511987654321');

    const page = await trpc.patients.list.query({ limit: 5 });
    assert.ok(Array.isArray(page.items));

    const err = await rejects(trpc.patients.create.mutate(newPatient(c)));
    assert.equal(err.data?.code, 'CONFLICT');
    assert.equal(err.data?.httpStatus, 409);
    assert.equal(err.shape?.code, -32009);
  });

  test(`${name}: book an appointment, CONFLICT on a double booking`, async () => {
    const trpc = client(link);
    const patient = await trpc.patients.create.mutate(newPatient(cpf()));
    const from = new Date(Date.now() + 24 * 3600 * 1000);
    const to = new Date(from.getTime() + 13 * 24 * 3600 * 1000);
    const free = await trpc.appointments.checkAvailability.query({
      procedure: TOXIN,
      professional: HELENA,
      from: from.toISOString(),
      to: to.toISOString(),
    });
    assert.equal(free.stepMinutes, 15);
    assert.ok(free.slots.length > 0, 'the seeded professional has free time in the next two weeks');
    const booking = { patientId: patient.id, professionalId: HELENA, procedureId: TOXIN, startsAt: free.slots[0] };
    const booked = await trpc.appointments.schedule.mutate(booking);
    assert.equal(booked.status, 'scheduled');
    assert.equal(new Date(booked.startsAt).getTime(), new Date(free.slots[0]).getTime());
    const read = await trpc.appointments.get.query({ id: booked.id });
    assert.equal(read.id, booked.id);

    const err = await rejects(trpc.appointments.schedule.mutate(booking));
    assert.equal(err.data?.code, 'CONFLICT');
    assert.equal(err.data?.httpStatus, 409);
    assert.equal(err.data?.apiCode, 'appointment_conflict');
    assert.deepEqual(err.data?.details?.conflicts?.map((c) => c.appointmentId), [booked.id]);

    const cancelled = await trpc.appointments.cancel.mutate({ id: booked.id, reason: 'patient_request' });
    assert.equal(cancelled.status, 'cancelled');
  });

  test(`${name}: UNAUTHORIZED without a token`, async () => {
    const trpc = client(link, { auth: false });
    const err = await rejects(trpc.patients.list.query({}));
    assert.equal(err.data?.code, 'UNAUTHORIZED');
    assert.equal(err.data?.httpStatus, 401);
    assert.equal(err.data?.path, 'patients.list');
    assert.equal((await trpc.health.query()).status, 'ok');
  });
}

test('httpBatchLink: one request mixing success and error answers 207, results in order', async () => {
  const seen = [];
  const trpc = client(httpBatchLink, { seen });
  const [health, missing, list] = await Promise.allSettled([
    trpc.health.query(),
    trpc.patients.getById.query({ id: randomUUID() }),
    trpc.patients.list.query({ limit: 1 }),
  ]);
  assert.equal(health.status, 'fulfilled');
  assert.equal(health.value.status, 'ok');
  assert.equal(missing.status, 'rejected');
  assert.equal(missing.reason.data?.code, 'NOT_FOUND');
  assert.equal(list.status, 'fulfilled');
  assert.equal(seen.length, 1, 'the three calls went out as one batch');
  assert.match(seen[0].url, /\/trpc\/health,patients\.getById,patients\.list\?batch=1/);
  assert.equal(seen[0].status, 207);
});
