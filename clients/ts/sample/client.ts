// A sample frontend client: type-checked by scripts/test (tsc), never run. It proves that
// `createTRPCClient<AppRouter>` infers every input and output from the generated types.
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../src/router";
import type { AppointmentView, ConsentView, PatientPage, PatientView } from "../src/types";

type Inputs = inferRouterInputs<AppRouter>;
type Outputs = inferRouterOutputs<AppRouter>;

export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpBatchLink({
      url: "https://api.neonpro.com.br/trpc",
      headers: () => ({ authorization: "Bearer <token>", "x-clinic-id": "<clinic uuid>" }),
    }),
  ],
});

export async function sample(): Promise<void> {
  const created: PatientView = await trpc.patients.create.mutate({
    fullName: "Conceição Araújo",
    birthDate: "1988-04-12",
    cpf: "52998224725",
  });
  const same: PatientView = await trpc.patients.getById.query({ id: created.id });
  const updated = await trpc.patients.update.mutate({
    id: same.id,
    version: same.version,
    patch: { socialName: null },
  });
  const version: number = updated.version;
  const page: PatientPage = await trpc.patients.list.query({ name: "Con", limit: 10 });
  const first: string | undefined = page.items[0]?.fullName;
  const consent: ConsentView = await trpc.patients.consents.withdraw.mutate({
    patientId: created.id,
    consentId: "…",
  });
  const status: "active" | "expired" | "withdrawn" = consent.status;
  const chain = await trpc.audit.verify.query();
  const valid: boolean = chain.valid;
  const health: string = (await trpc.health.query()).status;
  const free = await trpc.appointments.checkAvailability.query({
    procedure: "…",
    professional: "…",
    from: "2030-03-04T11:00:00Z",
    to: "2030-03-05T11:00:00Z",
  });
  const slot: string | undefined = free.slots[0];
  const booked: AppointmentView = await trpc.appointments.schedule.mutate({
    patientId: created.id,
    professionalId: "…",
    procedureId: "…",
    startsAt: slot ?? "2030-03-04T09:00:00-03:00",
  });
  const moved = await trpc.appointments.reschedule.mutate({
    id: booked.id,
    version: booked.version,
    patch: { startsAt: "2030-03-04T10:00:00-03:00" },
  });
  const procedures = await trpc.aestheticScheduling.getProcedures.query();
  const minDays: number | null | undefined = procedures.items[0]?.minIntervalDays;
  void [version, first, status, valid, health, moved.status, minDays];

  // @ts-expect-error: getById needs an id
  await trpc.patients.getById.query({});
  // @ts-expect-error: version is a number
  await trpc.patients.update.mutate({ id: created.id, version: "1", patch: {} });
  // @ts-expect-error: startsAt is required
  await trpc.appointments.schedule.mutate({ patientId: "…", professionalId: "…", procedureId: "…" });
  // @ts-expect-error: no such procedure
  await trpc.patients.remove.mutate({ id: created.id });
}

// Inference helpers work too.
export type CreateInput = Inputs["patients"]["create"];
export type ListOutput = Outputs["patients"]["list"];
const _check: ListOutput extends PatientPage ? true : false = true;
void _check;
