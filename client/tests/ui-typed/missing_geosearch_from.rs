use typedis::commands::{GeosearchBy, GeosearchUnit};
use typedis::prelude::*;

async fn f(client: &typedis::Client) -> typedis::Result<()> {
    // BYRADIUS needs FROMMEMBER or FROMLONLAT: the variant carries it, so a search by
    // radius without a center does not compile.
    let by = GeosearchBy::Circle {
        radius: 10.0,
        unit: GeosearchUnit::Km,
    };
    client.geosearch("g", by).await?;
    // Nor does a search without its shape.
    client.geosearch("g").await?;
    Ok(())
}

fn main() {}
