-- What the other tests share: error_of(q) runs a statement and answers 'ok', or its SQLSTATE
-- and message, so that one query can show what each of many statements does.
CREATE FUNCTION public.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT public.error_of('SELECT 1'), public.error_of('SELECT 1/0');
