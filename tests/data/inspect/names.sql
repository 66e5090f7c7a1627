-- Identifiers that need quoting, reserved words, upper case, and 63-byte names.
CREATE TYPE "Mood" AS ENUM ('happy', 'sad', 'yes', 'null');
CREATE TABLE "Order" (
    "id" integer PRIMARY KEY,
    "user" text NOT NULL,
    "Total Amount" numeric(12,4),
    "select" boolean DEFAULT true,
    "yes" text,
    "a: b" text,
    "mood" "Mood" DEFAULT 'null',
    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa integer UNIQUE
);
CREATE INDEX ON "Order" ("user", "Total Amount");
COMMENT ON COLUMN "Order"."user" IS 'multi
line: comment, with "quotes"';
