import { useEffect, useState } from "react";

/** The time, renewed every `ms`: "expires in" counts down without asking the server anything. */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
