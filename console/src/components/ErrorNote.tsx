// A failure, in the words api.ts chose, announced to screen readers.
export function ErrorNote({ message }: { message: string }) {
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}
