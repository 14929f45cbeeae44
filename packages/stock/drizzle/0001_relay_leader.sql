CREATE TABLE "outbox_relay_inflight" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"ids" bigint[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox_relay_offsets" (
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"next_offset" bigint NOT NULL,
	CONSTRAINT "outbox_relay_offsets_topic_partition_pk" PRIMARY KEY("topic","partition")
);
--> statement-breakpoint
DROP INDEX "outbox_pending_aggregate_idx";