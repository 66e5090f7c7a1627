-- Keys in every shape: composite, named by hand, across schemas, deferrable, self-referencing.
CREATE SCHEMA billing;
CREATE TABLE public.accounts (
    id integer NOT NULL,
    region text NOT NULL,
    parent_id integer REFERENCES public.accounts (id) ON DELETE SET NULL,
    email text NOT NULL,
    CONSTRAINT accounts_pk PRIMARY KEY (id),
    CONSTRAINT accounts_id_region_key UNIQUE (id, region),
    CONSTRAINT email_once UNIQUE (email),
    CONSTRAINT accounts_email_key UNIQUE (email, region)
);
CREATE TABLE billing.invoices (
    account_id integer NOT NULL,
    region text NOT NULL,
    number integer NOT NULL,
    total numeric NOT NULL CHECK (total >= 0),
    PRIMARY KEY (account_id, number),
    FOREIGN KEY (account_id, region) REFERENCES public.accounts (id, region)
        ON UPDATE CASCADE ON DELETE RESTRICT DEFERRABLE,
    CONSTRAINT invoice_account FOREIGN KEY (account_id) REFERENCES public.accounts (id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE billing.lines (
    account_id integer NOT NULL,
    number integer NOT NULL,
    line integer NOT NULL,
    PRIMARY KEY (account_id, number, line),
    FOREIGN KEY (account_id, number) REFERENCES billing.invoices ON DELETE CASCADE,
    CONSTRAINT line_positive CHECK (line > 0 AND line < 1000)
);
