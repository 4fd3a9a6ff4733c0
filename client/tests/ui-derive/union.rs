#[derive(typedis::Record)]
union Bits {
    a: u32,
    b: f32,
}

#[derive(typedis::Scalar)]
union Raw {
    a: u32,
}

fn main() {}
