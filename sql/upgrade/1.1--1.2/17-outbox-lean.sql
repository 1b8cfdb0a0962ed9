-- Issue 17, the outbox on POST /appointments (bench/README.md, "The outbox, leaner (issue 17)").

-- A reminder's practice is also its appointment's: the foreign key on the appointment's id alone
-- let a row name another practice's appointment (its patient's practice was the only one checked).
ALTER TABLE ta.appointments ADD CONSTRAINT appointments_id_practice_key UNIQUE (id, practice_id);
ALTER TABLE ta.outbox DROP CONSTRAINT outbox_appointment_id_fkey,
    ADD CONSTRAINT outbox_appointment_id_fkey FOREIGN KEY (appointment_id, practice_id)
        REFERENCES ta.appointments (id, practice_id) DEFERRABLE INITIALLY DEFERRED;
