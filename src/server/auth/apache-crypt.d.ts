// apache-crypt ships no types: the traditional DES crypt(3) of Apache's password files.
declare module "apache-crypt" {
  function crypt(password: string, salt?: string): string;
  export = crypt;
}
