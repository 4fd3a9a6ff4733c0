#[derive(typedis::Record)]
struct User {
    #[typedis(renamed = "n")]
    name: String,
    #[typedis(skip, flatten)]
    age: u32,
}

#[derive(typedis::Scalar)]
#[typedis(rename_all = "lower")]
enum Plan {
    Free,
}

fn main() {}
