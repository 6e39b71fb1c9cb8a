import { Link } from "wouter";
import { PageTitle } from "../components/ui.tsx";

export function NotFoundPage() {
  return (
    <>
      <PageTitle title="Not found">No such page</PageTitle>
      <p>
        There is nothing here. <Link href="/">See your VMs</Link>.
      </p>
    </>
  );
}
