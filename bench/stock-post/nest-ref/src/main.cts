/**
 * NestJS 10 reference for the POST /stock benchmark (not part of the system): Nest's default platform
 * (express), a global ValidationPipe over class-validator DTOs, node-postgres with the same pool size as
 * the other candidates. Started by bench/stock-post/run.ts as `node dist/main.cjs --port … --database-url …`.
 */
import 'reflect-metadata'
import { type DynamicModule, Module, ValidationPipe } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { Pool } from 'pg'
import { parseArgs, type RefConfig } from './config.cjs'
import { StockController } from './stock.controller.cjs'
import { POOL, StockService } from './stock.service.cjs'

@Module({})
class AppModule {
  static with(config: RefConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [StockController],
      providers: [
        { provide: POOL, useValue: new Pool({ connectionString: config.databaseUrl, max: config.pool }) },
        StockService,
      ],
    }
  }
}

async function main() {
  let config: RefConfig
  try {
    config = parseArgs(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(2)
  }
  const app = await NestFactory.create(AppModule.with(config), { logger: ['error', 'warn'] })
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
  app.enableShutdownHooks()
  await app.listen(config.port, config.host)
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: config.port })}\n`)
}

void main()
